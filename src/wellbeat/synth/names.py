"""Name, nickname and street vocabularies the synthetic residents are drawn from.

Common US given names and surnames (a mix of origins), chosen by hand; every combination is
fictional. Nicknames are the familiar forms registration clerks and officers write down, which
is what makes record linkage hard.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words; ``_`` stands for a space inside one entry."""
    return tuple(word.replace("_", " ") for word in text.split())


def _pairs(text: str) -> dict[str, str]:
    """``Formal=Familiar`` pairs, whitespace separated."""
    return dict(pair.split("=", 1) for pair in text.split())


MALE_FIRST = _words(
    """
    James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel
    Matthew Anthony Mark Donald Steven Andrew Joshua Kenneth Kevin Brian Timothy Ronald Jason
    Edward Jeffrey Ryan Jacob Nicholas Gary Eric Jonathan Stephen Larry Justin Scott Brandon
    Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose
    Luis Carlos Juan Miguel DeShawn Tyrone Malik Andre Terrence Nguyen Wei Ahmed Omar Hector
    Rafael Jamal Dwayne Marcus Cody
    """
)
FEMALE_FIRST = _words(
    """
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
    Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma
    Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather
    Diane Ruth Julie Olivia Victoria Rosa Guadalupe Lucia Keisha Latoya Tamika Ebony Aaliyah Mei
    Linh Fatima Aisha Yolanda Crystal Tiffany
    """
)
LAST = _words(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
    Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
    Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward
    Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez
    Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
    Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
    Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
    Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison
    Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
    Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
    Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
    Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
    Gardner Payne Grant Dunn O'Brien Van_Dyke St._Clair
    """
)
NICKNAMES = _pairs(
    """
    William=Bill Robert=Bob Richard=Rick James=Jim John=Jack Michael=Mike Joseph=Joe Thomas=Tom
    Christopher=Chris Charles=Chuck Daniel=Dan Matthew=Matt Anthony=Tony Donald=Don Steven=Steve
    Andrew=Andy Joshua=Josh Kenneth=Ken Timothy=Tim Ronald=Ron Edward=Ed Jeffrey=Jeff
    Nicholas=Nick Jonathan=Jon Stephen=Steve Benjamin=Ben Samuel=Sam Gregory=Greg Alexander=Alex
    Patrick=Pat Raymond=Ray Dennis=Denny Jerry=Jer Terrence=Terry Elizabeth=Liz Patricia=Patty
    Jennifer=Jen Margaret=Peggy Kimberly=Kim Deborah=Debbie Stephanie=Steph Rebecca=Becky
    Kathleen=Kathy Pamela=Pam Samantha=Sam Katherine=Kate Christine=Chris Catherine=Cathy
    Victoria=Vicky Cynthia=Cindy Susan=Sue Jessica=Jess Amanda=Mandy Dorothy=Dot Barbara=Barb
    Sandra=Sandy Melissa=Missy Nancy=Nan Guadalupe=Lupe
    """
)
STREETS = _words(
    """
    Oak Maple Cedar Elm Pine Walnut Washington Lincoln Jefferson Park Lake Hill Main Church Mill
    River Grand University Forest Highland Franklin Jackson Madison Adams Euclid Douglas
    Ingersoll Cottage Prospect Hickory Chestnut Sycamore Willow Center Market Harding Clark
    Locust Spring Union Fleur Beaver Hubbell Keo
    """
)
STREET_SUFFIXES = _words(
    """
    St Ave Rd Dr Blvd Ct Pl Ln Way Pkwy
    """
)
STREET_SUFFIX_WORDS = _pairs(
    "St=Street Ave=Avenue Rd=Road Dr=Drive Blvd=Boulevard Ct=Court Pl=Place Ln=Lane "
    "Way=Way Pkwy=Parkway"
)
NEIGHBOURHOOD_FIRST = _words(
    """
    Oak Cedar Maple Elm Willow Birch Pine Ash River Lake Mill Stone Fox Eagle Hawk Spring Green
    Red Silver Union Beaver Walnut Prairie Sunset
    """
)
NEIGHBOURHOOD_SECOND = _words(
    """
    Hill Park Heights Grove Side Field Ridge Brook Point Gardens Crossing Terrace Hollow Bend
    """
)
VENUES = _words(
    """
    the_Red_Lion Club_Neon Mickey's_Tavern the_Blue_Room Station_Bar Lucky_7 the_Rusty_Nail
    Velvet_Lounge Corner_Pocket Hideaway_Pub
    """
)
